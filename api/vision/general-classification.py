from lib.vision.endpoint import vision_app

app = vision_app("general-classification")
