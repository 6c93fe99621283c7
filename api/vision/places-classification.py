from lib.vision.endpoint import vision_app

app = vision_app("places-classification")
