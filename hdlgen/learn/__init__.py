"""Learning sparse, low-activity circuits (NumPy; no deep-learning framework needed)."""

from hdlgen.learn.digits import TrainReport, evaluate_dataset, train_digits
from hdlgen.learn.mnist import train_mnist
from hdlgen.learn.sparse import TrainConfig, TrainedNetwork, train_network

__all__ = [
    "TrainConfig",
    "TrainReport",
    "TrainedNetwork",
    "evaluate_dataset",
    "train_digits",
    "train_mnist",
    "train_network",
]
