"""The paper's MNIST networks (Table 1): shapes, output range, initialisation."""

import pytest
import torch
from torch import nn

from infogan.latent import LatentSpec
from infogan.nets import ARCHITECTURES, OUTPUT_RANGE, Discriminator, Generator, build_networks

torch.set_num_threads(1)

MNIST = LatentSpec(noise_size=62, categorical=(10,), continuous=2)
RELEASED = LatentSpec(noise_size=62, categorical=(10,), continuous=2, continuous_std="fixed")


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return build_networks("mnist", MNIST, (1, 28, 28), leaky_slope=0.1, init_std=0.02)


def test_registry():
    assert set(ARCHITECTURES) == {"mnist"}
    assert OUTPUT_RANGE["mnist"] == (0.0, 1.0)


def test_generator_output_shape_and_range(nets):
    generator, _ = nets
    assert isinstance(generator, Generator)
    latent = MNIST.generator_input(MNIST.sample(6, torch.Generator().manual_seed(0), torch.device("cpu")))
    with torch.no_grad():
        images = generator.train()(latent)
        assert images.shape == (6, 1, 28, 28)
        assert images.dtype == torch.float32
        assert images.min() >= 0 and images.max() <= 1
        assert images.std() > 0  # not a constant image
        generator.eval()
        assert generator(latent[:1]).shape == (1, 1, 28, 28)  # eval mode handles a batch of one
    generator.train()


def test_discriminator_outputs(nets):
    _, discriminator = nets
    assert isinstance(discriminator, Discriminator)
    images = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, q = discriminator.train()(images)
        assert logits.shape == (5,)
        assert q.shape == (5, MNIST.q_output_size) == (5, 14)
        discriminator.eval()
        logits_eval, q_eval = discriminator(images)
        assert torch.allclose(discriminator.q(images), q_eval)
    discriminator.train()


def test_q_head_size_follows_the_latent_spec():
    torch.manual_seed(0)
    _, discriminator = build_networks("mnist", RELEASED, (1, 28, 28), 0.1, 0.02)
    _, q = discriminator(torch.rand(3, 1, 28, 28))
    assert q.shape == (3, 12)
    generator, _ = build_networks("mnist", LatentSpec(10, (), 1), (1, 28, 28), 0.1, 0.02)
    assert generator(torch.rand(2, 11)).shape == (2, 1, 28, 28)


def test_channels_follow_the_image_shape():
    torch.manual_seed(0)
    generator, discriminator = build_networks("mnist", MNIST, (3, 28, 28), 0.1, 0.02)
    images = generator(torch.rand(2, 74))
    assert images.shape == (2, 3, 28, 28)
    assert discriminator(images)[0].shape == (2,)


def test_initialisation(nets):
    generator, discriminator = nets
    big = [m for net in nets for m in net.modules()
           if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) and m.weight.numel() >= 100_000]
    assert len(big) >= 4  # G's fc layers and deconv, D's conv and fc
    for layer in big:
        assert layer.weight.std().item() == pytest.approx(0.02, rel=0.02)
        assert abs(layer.weight.mean().item()) < 0.001
    for net in nets:
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
                assert torch.all(m.bias == 0)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def test_init_std_and_leaky_slope_are_used():
    torch.manual_seed(0)
    generator, discriminator = build_networks("mnist", MNIST, (1, 28, 28), leaky_slope=0.01, init_std=0.05)
    assert generator.fc[0].weight.std().item() == pytest.approx(0.05, rel=0.03)
    slopes = {m.negative_slope for m in discriminator.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.01}


def test_layers_before_batch_norm_have_no_bias(nets):
    generator, discriminator = nets
    for seq in (generator.fc, generator.deconv, discriminator.body, discriminator.q_head):
        layers = list(seq)
        for layer, following in zip(layers, layers[1:]):
            if isinstance(following, (nn.BatchNorm1d, nn.BatchNorm2d)):
                assert layer.bias is None


def test_initialisation_is_seeded():
    torch.manual_seed(3)
    g1, _ = build_networks("mnist", MNIST, (1, 28, 28), 0.1, 0.02)
    torch.manual_seed(3)
    g2, _ = build_networks("mnist", MNIST, (1, 28, 28), 0.1, 0.02)
    assert all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), g2.state_dict().values()))


@pytest.mark.parametrize("shape", [(1, 32, 32), (1, 28, 32), (3, 64, 64)])
def test_rejects_other_image_sizes(shape):
    with pytest.raises(ValueError, match=f"28 x 28 images, got {shape[1]} x {shape[2]}"):
        build_networks("mnist", MNIST, shape, 0.1, 0.02)
