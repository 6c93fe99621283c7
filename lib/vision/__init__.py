"""Computer vision: the model catalogue, input checks, the paid pipeline and its backends."""
