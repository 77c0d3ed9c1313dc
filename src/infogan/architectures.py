"""The paper's four architectures by name, and the images each generator draws.

Facts about the networks that the experiment config checks (which names exist, which output
layer each has, the range it draws in) without building a network. They live apart from
`infogan.nets`, which needs torch, so that reading and checking a config does not: the
Snakefile checks every experiment's config for each DAG it builds.
"""

# Each architecture's output layer as the paper's tables give it (infogan.nets builds them).
OUTPUT_ACTIVATION = {"mnist": "sigmoid", "svhn_celeba": "tanh", "faces": "sigmoid", "chairs": "sigmoid"}
NAMES = tuple(OUTPUT_ACTIVATION)
# The range each output layer draws images in, so that data can be scaled to match.
ACTIVATION_RANGE = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def output_range(name, output=None) -> tuple[float, float]:
    """The range of the images architecture `name`'s generator draws, with output layer `output`
    (None: the architecture's own)."""
    return ACTIVATION_RANGE[output or OUTPUT_ACTIVATION[name]]


# Networks whose images are single digits, ink on black: slant and width from image moments
# mean something there (Figure 2's rotation and width), not on faces, chairs or colour crops.
DIGIT_NETWORKS = ("mnist",)


def sweeps_continuous_codes(config) -> bool:
    """Whether `infogan evaluate` sweeps the continuous codes of a run of experiment `config`
    (an infogan.config.ExperimentConfig), measuring slant and width: only there does its
    `--draws` count, and only there does the workflow pass it, so that a change to
    `evaluate.draws` re-runs just the evaluations it changes."""
    return bool(config.latent.continuous) and config.network in DIGIT_NETWORKS
