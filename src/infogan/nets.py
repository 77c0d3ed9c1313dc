"""The paper's networks (Appendix C), chosen by name from the experiment config.

Each architecture is a pair (generator, discriminator). The discriminator returns two
things from one shared body: D's real/fake logit and Q's raw code parameters, because
the paper makes Q a head on D's body, so that L_I costs little beyond a GAN.

Departures from the letter of the tables, all exact or immaterial:
- layers followed by batch norm have no bias (batch norm's shift makes it redundant);
- weights start from N(0, init_std) as in the authors' code; batch norm starts at (1, 0).
"""

from torch import nn


def _init_weights(module, std):
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class Discriminator(nn.Module):
    """Shared body, then a 1-unit D head and a Q head on the same features."""

    def __init__(self, body, d_head, q_head):
        super().__init__()
        self.body, self.d_head, self.q_head = body, d_head, q_head

    def forward(self, images, q_trains_body=True):
        """D's logit and Q's output. With q_trains_body=False, Q's loss reaches only Q's own
        head and the body stays a regular GAN discriminator's (the paper's GAN baseline)."""
        features = self.body(images)
        q_features = features if q_trains_body else features.detach()
        return self.d_head(features).squeeze(1), self.q_head(q_features)

    def q(self, images):
        """Q's raw output alone (for evaluation on real images)."""
        return self.q_head(self.body(images))


class Generator(nn.Module):
    """Fully connected layers, a reshape to a feature map, then transposed convolutions."""

    def __init__(self, fc, feature_shape, deconv):
        super().__init__()
        self.fc, self.feature_shape, self.deconv = fc, tuple(feature_shape), deconv

    def forward(self, latent):
        return self.deconv(self.fc(latent).view(-1, *self.feature_shape))


def mnist_networks(input_size, q_output_size, image_shape, leaky_slope):
    """Table 1: the MNIST networks (28 x 28 x 1, sigmoid output)."""
    channels, height, width = image_shape
    if (height, width) != (28, 28):
        raise ValueError(f"the mnist network needs 28 x 28 images, got {height} x {width}")
    generator = Generator(
        fc=nn.Sequential(
            nn.Linear(input_size, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 7 * 7 * 128, bias=False), nn.BatchNorm1d(7 * 7 * 128), nn.ReLU(),
        ),
        feature_shape=(128, 7, 7),
        deconv=nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Sigmoid(),
        ),
    )
    discriminator = Discriminator(
        body=nn.Sequential(
            nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(leaky_slope),
            nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(leaky_slope),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1024, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(leaky_slope),
        ),
        d_head=nn.Linear(1024, 1),
        q_head=nn.Sequential(
            nn.Linear(1024, 128, bias=False), nn.BatchNorm1d(128), nn.LeakyReLU(leaky_slope),
            nn.Linear(128, q_output_size),
        ),
    )
    return generator, discriminator


ARCHITECTURES = {"mnist": mnist_networks}
# What each architecture's generator outputs, so data can be scaled to match.
OUTPUT_RANGE = {"mnist": (0.0, 1.0)}


def build_networks(name, latent_spec, image_shape, leaky_slope, init_std):
    """Build (generator, discriminator) for architecture `name`, initialised as the authors did."""
    generator, discriminator = ARCHITECTURES[name](
        latent_spec.generator_input_size, latent_spec.q_output_size, image_shape, leaky_slope
    )
    _init_weights(generator, init_std)
    _init_weights(discriminator, init_std)
    return generator, discriminator
