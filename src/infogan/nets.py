"""The paper's networks (Appendix C), chosen by name from the experiment config.

Each architecture is a pair (generator, discriminator). The discriminator returns two
things from one shared body: D's real/fake logit and Q's raw code parameters, because
the paper makes Q a head on D's body, so that L_I costs little beyond a GAN.

Departures from the letter of the tables, all exact or immaterial:
- layers followed by batch norm have no bias (batch norm's shift makes it redundant);
- weights start from N(0, init_std) as in the authors' code; batch norm starts at (1, 0);
- a stride-1 4 x 4 "upconv" (Table 6) is written as a stride-1 convolution with "SAME"
  padding: a transposed convolution with stride 1 is a convolution, and PyTorch's
  transposed convolution cannot keep an 8 x 8 map at 8 x 8 with an even kernel.

Where D and Q share the whole network (Tables 4 and 6: "separate output units"), Q's
head is a single linear layer on D's last hidden layer; elsewhere it is FC128-BN-lReLU-FC.
"""

import torch
from torch import nn

from infogan.architectures import NAMES, OUTPUT_ACTIVATION


def _init_weights(module, std):
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def _by_batch(layers, x, stacked):
    """Apply `layers` (a Sequential or one layer) to `stacked` batches held one after another
    in `x`: batch norm per batch, everything else once over all of them."""
    for layer in layers if isinstance(layers, nn.Sequential) else [layers]:
        if stacked > 1 and isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            x = torch.cat([layer(batch) for batch in x.chunk(stacked)])
        else:
            x = layer(x)
    return x


class Discriminator(nn.Module):
    """Shared body, then a 1-unit D head and a Q head on the same features."""

    def __init__(self, body, d_head, q_head):
        super().__init__()
        self.body, self.d_head, self.q_head = body, d_head, q_head

    def forward(self, images, q_trains_body=True, stacked=1):
        """D's logit and Q's output. With q_trains_body=False, Q's loss reaches only Q's own
        head and the body stays a regular GAN discriminator's (the paper's GAN baseline).

        `stacked` > 1 says `images` is that many equal batches one after another (real, then
        fake): each batch norm layer normalises each batch by its own statistics and updates
        its running statistics once per batch, in order, exactly as separate calls would,
        while every other layer runs once over all of them. Same result as one call per
        batch (up to floating-point order), but fewer and larger matrix products, and one
        weight gradient per layer instead of one per batch added up (`speed.stacked_batches`).
        """
        features = _by_batch(self.body, images, stacked)
        q_features = features if q_trains_body else features.detach()
        return self.d_head(features).squeeze(1), _by_batch(self.q_head, q_features, stacked)

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


def _same_size_conv(in_channels, out_channels, bias):
    """Stride-1 4 x 4 convolution keeping the size: TensorFlow's "SAME" padding, one row and
    column before, two after (an even kernel cannot be padded evenly)."""
    return [nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(in_channels, out_channels, 4, 1, 0, bias=bias)]


def _conv(in_channels, out_channels, stride, leaky_slope, batch_norm=True):
    """4 x 4 convolution (halving the size at stride 2, keeping it at stride 1), [BN], leaky ReLU."""
    if stride == 2:
        layers = [nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=not batch_norm)]
    else:
        layers = _same_size_conv(in_channels, out_channels, bias=not batch_norm)
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return [*layers, nn.LeakyReLU(leaky_slope)]


def _upconv(in_channels, out_channels, stride, batch_norm=True):
    """4 x 4 transposed convolution doubling the size (stride 2), or a size-keeping stride-1 one, [BN], ReLU."""
    if stride == 2:
        layers = [nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=not batch_norm)]
    else:
        layers = _same_size_conv(in_channels, out_channels, bias=not batch_norm)
    return [*layers, *([nn.BatchNorm2d(out_channels)] if batch_norm else []), nn.ReLU()]


def _fc(in_features, out_features, activation):
    return [nn.Linear(in_features, out_features, bias=False), nn.BatchNorm1d(out_features), activation]


def _check_size(name, image_shape, height_width):
    if tuple(image_shape[1:]) != height_width:
        raise ValueError(f"the {name} network needs {height_width[0]} x {height_width[1]} images, "
                         f"got {image_shape[1]} x {image_shape[2]}")


def svhn_celeba_networks(input_size, q_output_size, image_shape, leaky_slope):
    """Tables 2 and 3: SVHN and CelebA (32 x 32 x 3, tanh output). Table 3's caption says
    SVHN; the layers are the same, so one builder serves both."""
    _check_size("svhn/celeba", image_shape, (32, 32))
    channels = image_shape[0]
    generator = Generator(
        fc=nn.Sequential(*_fc(input_size, 2 * 2 * 448, nn.ReLU())),
        feature_shape=(448, 2, 2),
        deconv=nn.Sequential(
            *_upconv(448, 256, 2),
            *_upconv(256, 128, 2, batch_norm=False),
            *_upconv(128, 64, 2, batch_norm=False),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh(),
        ),
    )
    discriminator = Discriminator(
        body=nn.Sequential(
            *_conv(channels, 64, 2, leaky_slope, batch_norm=False),
            *_conv(64, 128, 2, leaky_slope),
            *_conv(128, 256, 2, leaky_slope),
            nn.Flatten(),
        ),
        d_head=nn.Linear(256 * 4 * 4, 1),
        q_head=nn.Sequential(*_fc(256 * 4 * 4, 128, nn.LeakyReLU(leaky_slope)), nn.Linear(128, q_output_size)),
    )
    return generator, discriminator


def faces_networks(input_size, q_output_size, image_shape, leaky_slope):
    """Table 4: 3D Faces (32 x 32 x 1, sigmoid output); D and Q share the whole network."""
    _check_size("faces", image_shape, (32, 32))
    channels = image_shape[0]
    generator = Generator(
        fc=nn.Sequential(*_fc(input_size, 1024, nn.ReLU()), *_fc(1024, 8 * 8 * 128, nn.ReLU())),
        feature_shape=(128, 8, 8),
        deconv=nn.Sequential(*_upconv(128, 64, 2), nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Sigmoid()),
    )
    discriminator = Discriminator(
        body=nn.Sequential(
            *_conv(channels, 64, 2, leaky_slope, batch_norm=False),
            *_conv(64, 128, 2, leaky_slope),
            nn.Flatten(),
            *_fc(128 * 8 * 8, 1024, nn.LeakyReLU(leaky_slope)),
        ),
        d_head=nn.Linear(1024, 1),
        q_head=nn.Linear(1024, q_output_size),
    )
    return generator, discriminator


def chairs_networks(input_size, q_output_size, image_shape, leaky_slope):
    """Table 6: 3D Chairs (64 x 64 x 1, sigmoid output); D and Q share the whole network."""
    _check_size("chairs", image_shape, (64, 64))
    channels = image_shape[0]
    generator = Generator(
        fc=nn.Sequential(*_fc(input_size, 1024, nn.ReLU()), *_fc(1024, 8 * 8 * 256, nn.ReLU())),
        feature_shape=(256, 8, 8),
        deconv=nn.Sequential(
            *_upconv(256, 256, 1), *_upconv(256, 256, 1),
            *_upconv(256, 128, 2), *_upconv(128, 64, 2),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Sigmoid(),
        ),
    )
    discriminator = Discriminator(
        body=nn.Sequential(
            *_conv(channels, 64, 2, leaky_slope, batch_norm=False),
            *_conv(64, 128, 2, leaky_slope),
            *_conv(128, 256, 2, leaky_slope),
            *_conv(256, 256, 1, leaky_slope),
            *_conv(256, 256, 1, leaky_slope),
            nn.Flatten(),
            *_fc(256 * 8 * 8, 1024, nn.LeakyReLU(leaky_slope)),
        ),
        d_head=nn.Linear(1024, 1),
        q_head=nn.Linear(1024, q_output_size),
    )
    return generator, discriminator


# The builders of infogan.architectures.NAMES, each with that module's output layer.
ARCHITECTURES = {
    "mnist": mnist_networks,
    "svhn_celeba": svhn_celeba_networks,
    "faces": faces_networks,
    "chairs": chairs_networks,
}
assert tuple(ARCHITECTURES) == NAMES, "infogan.architectures and infogan.nets name different architectures"
ACTIVATION_LAYER = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def build_networks(name, latent_spec, image_shape, leaky_slope, init_std, output=None, initialise=True):
    """Build (generator, discriminator) for architecture `name`, initialised as the authors did.
    `output` ("sigmoid" or "tanh") replaces the generator's output layer; None keeps the paper's.
    `initialise=False` skips the authors' initialisation, for networks whose every weight is
    loaded next (`infogan.checkpoint.load_trained`)."""
    generator, discriminator = ARCHITECTURES[name](
        latent_spec.generator_input_size, latent_spec.q_output_size, image_shape, leaky_slope
    )
    if output is not None and output != OUTPUT_ACTIVATION[name]:
        generator.deconv[-1] = ACTIVATION_LAYER[output]()
    if initialise:
        _init_weights(generator, init_std)
        _init_weights(discriminator, init_std)
    return generator, discriminator
