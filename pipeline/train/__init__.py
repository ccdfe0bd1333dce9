"""Training: models, augmentation, losses and the loop that trains them."""
