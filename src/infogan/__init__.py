"""InfoGAN reproduction: latent codes, networks, data, training and evaluation."""

__version__ = "0.1.0"
