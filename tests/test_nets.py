"""The paper's networks (Tables 1-4, 6): shapes, output range, layer order, initialisation."""

import pytest
import torch
from torch import nn

from infogan.latent import LatentSpec
from infogan.architectures import OUTPUT_ACTIVATION, output_range
from infogan.nets import ARCHITECTURES, Discriminator, Generator, build_networks


MNIST = LatentSpec(noise_size=62, categorical=(10,), continuous=2)
RELEASED = LatentSpec(noise_size=62, categorical=(10,), continuous=2, continuous_std="fixed")


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return build_networks("mnist", MNIST, (1, 28, 28), leaky_slope=0.1, init_std=0.02)


def test_registry():
    assert set(ARCHITECTURES) == {"mnist", "svhn_celeba", "faces", "chairs"}
    assert {name: output_range(name) for name in ARCHITECTURES} == {
        "mnist": (0.0, 1.0), "svhn_celeba": (-1.0, 1.0), "faces": (0.0, 1.0), "chairs": (0.0, 1.0)}


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


# Appendix C: (architecture, image shape, latent spec, generator input size the paper states).
PAPER_NETWORKS = {
    "svhn": ("svhn_celeba", (3, 32, 32), LatentSpec(124, (10,) * 4, 4), 168),
    "celeba": ("svhn_celeba", (3, 32, 32), LatentSpec(128, (10,) * 10, 0), 228),
    "faces": ("faces", (1, 32, 32), LatentSpec(128, (), 5), 133),
    "chairs": ("chairs", (1, 64, 64), LatentSpec(128, (20,) * 3, 1), 189),
}


def kinds(sequence):
    """Layer types and their main sizes, in order: a readable fingerprint of a Sequential."""
    out = []
    for layer in sequence:
        if isinstance(layer, nn.Linear):
            out.append(f"fc{layer.out_features}")
        elif isinstance(layer, nn.ConvTranspose2d):
            out.append(f"upconv{layer.out_channels}s{layer.stride[0]}")
        elif isinstance(layer, nn.Conv2d):
            out.append(f"conv{layer.out_channels}s{layer.stride[0]}")
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            out.append("bn")
        elif isinstance(layer, nn.LeakyReLU):
            out.append("lrelu")
        elif isinstance(layer, (nn.ReLU, nn.Tanh, nn.Sigmoid)):
            out.append(type(layer).__name__.lower())
    return out


@pytest.mark.parametrize("dataset", sorted(PAPER_NETWORKS))
def test_paper_networks_shapes_and_ranges(dataset):
    network, shape, spec, input_size = PAPER_NETWORKS[dataset]
    assert spec.generator_input_size == input_size
    torch.manual_seed(0)
    generator, discriminator = build_networks(network, spec, shape, 0.1, 0.02)
    latent = spec.generator_input(spec.sample(4, torch.Generator().manual_seed(0), torch.device("cpu")))
    low, high = output_range(network)
    with torch.no_grad():
        images = generator(latent)
        assert images.shape == (4, *shape)
        assert images.min() >= low and images.max() <= high and images.std() > 0
        logits, q = discriminator(images)
    assert logits.shape == (4,) and q.shape == (4, spec.q_output_size)


def test_svhn_celeba_layers_follow_tables_2_and_3():
    generator, discriminator = build_networks("svhn_celeba", PAPER_NETWORKS["svhn"][2], (3, 32, 32), 0.1, 0.02)
    assert kinds(generator.fc) == ["fc1792", "bn", "relu"]  # 2 x 2 x 448
    assert kinds(generator.deconv) == ["upconv256s2", "bn", "relu", "upconv128s2", "relu", "upconv64s2", "relu",
                                       "upconv3s2", "tanh"]
    assert kinds(discriminator.body) == ["conv64s2", "lrelu", "conv128s2", "bn", "lrelu", "conv256s2", "bn", "lrelu"]
    assert kinds(discriminator.q_head) == ["fc128", "bn", "lrelu", "fc48"]


def test_faces_layers_follow_table_4():
    generator, discriminator = build_networks("faces", PAPER_NETWORKS["faces"][2], (1, 32, 32), 0.1, 0.02)
    assert kinds(generator.fc) == ["fc1024", "bn", "relu", "fc8192", "bn", "relu"]
    assert kinds(generator.deconv) == ["upconv64s2", "bn", "relu", "upconv1s2", "sigmoid"]
    assert kinds(discriminator.body) == ["conv64s2", "lrelu", "conv128s2", "bn", "lrelu", "fc1024", "bn", "lrelu"]
    assert kinds([discriminator.q_head]) == ["fc10"]  # D and Q share the whole network


def test_chairs_layers_follow_table_6():
    generator, discriminator = build_networks("chairs", PAPER_NETWORKS["chairs"][2], (1, 64, 64), 0.1, 0.02)
    assert kinds(generator.fc) == ["fc1024", "bn", "relu", "fc16384", "bn", "relu"]
    assert kinds(generator.deconv) == ["conv256s1", "bn", "relu", "conv256s1", "bn", "relu", "upconv128s2", "bn",
                                       "relu", "upconv64s2", "bn", "relu", "upconv1s2", "sigmoid"]
    assert kinds(discriminator.body) == ["conv64s2", "lrelu", "conv128s2", "bn", "lrelu", "conv256s2", "bn", "lrelu",
                                         "conv256s1", "bn", "lrelu", "conv256s1", "bn", "lrelu", "fc1024", "bn", "lrelu"]
    assert kinds([discriminator.q_head]) == ["fc62"]  # 3 x 20 logits + mean and log-std of one code


@pytest.mark.parametrize("network,shape", [("svhn_celeba", (3, 28, 28)), ("faces", (1, 64, 64)), ("chairs", (1, 32, 32))])
def test_paper_networks_reject_other_sizes(network, shape):
    with pytest.raises(ValueError, match="network needs"):
        build_networks(network, MNIST, shape, 0.1, 0.02)


def test_mnist_layers_follow_table_1(nets):
    generator, discriminator = nets
    assert kinds(generator.fc) + kinds(generator.deconv) == [
        "fc1024", "bn", "relu", "fc6272", "bn", "relu", "upconv64s2", "bn", "relu", "upconv1s2", "sigmoid"]
    assert kinds(discriminator.body) == ["conv64s2", "lrelu", "conv128s2", "bn", "lrelu", "fc1024", "bn", "lrelu"]
    assert kinds([discriminator.d_head]) == ["fc1"]
    assert kinds(discriminator.q_head) == ["fc128", "bn", "lrelu", f"fc{MNIST.q_output_size}"]


@pytest.mark.parametrize("dataset", ["mnist", *sorted(PAPER_NETWORKS)])
def test_stacked_batches_compute_what_separate_calls_do(dataset):
    """`stacked=2` (speed.stacked_batches): one pass over real and fake stacked gives the
    outputs, the weight gradients and the batch-norm running statistics of two calls,
    up to floating-point order."""
    import copy

    network, shape, spec, _ = PAPER_NETWORKS.get(dataset, ("mnist", (1, 28, 28), MNIST, None))
    torch.manual_seed(0)
    _, separate = build_networks(network, spec, shape, 0.1, 0.02)
    stacked = copy.deepcopy(separate)
    real, fake = torch.rand(6, *shape), torch.rand(6, *shape) * 0.5  # unlike batches: per-batch statistics differ
    d_real, _ = separate(real)
    d_fake, q_fake = separate(fake)
    logits, q = stacked(torch.cat([real, fake]), stacked=2)
    torch.testing.assert_close(logits, torch.cat([d_real, d_fake]))
    torch.testing.assert_close(q[6:], q_fake)
    (d_real.sum() + d_fake.square().sum() + q_fake.sum()).backward()
    (logits[:6].sum() + logits[6:].square().sum() + q[6:].sum()).backward()
    for (name, a), b in zip(separate.named_parameters(), stacked.parameters()):
        # sums over the batch in another order: equal to float32's precision at the gradient's scale
        assert (b.grad - a.grad).abs().max() <= 1e-5 * a.grad.abs().max(), name
    for (name, a), b in zip(separate.named_buffers(), stacked.buffers()):
        torch.testing.assert_close(b, a, msg=name)
    # one pass with ordinary (joint) batch norm is a different computation: the test can fail
    joint_logits, _ = copy.deepcopy(stacked)(torch.cat([real, fake]))
    assert not torch.allclose(joint_logits, logits, atol=1e-3)


@pytest.mark.parametrize("network, shape", [("mnist", (1, 28, 28)), ("svhn_celeba", (3, 32, 32))])
def test_the_output_layer_can_be_swapped_and_its_range_follows(network, shape):
    """`generator_output`: the paper's layer by default; the other one on request (a variant)."""
    other = "tanh" if OUTPUT_ACTIVATION[network] == "sigmoid" else "sigmoid"
    spec = LatentSpec(8, (10,), 2)
    torch.manual_seed(0)
    default, _ = build_networks(network, spec, shape, 0.1, 0.02)
    torch.manual_seed(0)
    swapped, _ = build_networks(network, spec, shape, 0.1, 0.02, output=other)
    assert type(default.deconv[-1]).__name__.lower() == OUTPUT_ACTIVATION[network]
    assert type(swapped.deconv[-1]).__name__.lower() == other
    assert len(list(swapped.parameters())) == len(list(default.parameters()))
    z = torch.rand(16, spec.generator_input_size) * 2 - 1
    low, high = output_range(network, other)
    images = swapped.eval()(z)
    assert images.min() >= low and images.max() <= high and images.min() < (low + high) / 2
