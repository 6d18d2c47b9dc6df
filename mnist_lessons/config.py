"""The lesson's settings, named once for the chapters, the command line and the tests."""

from __future__ import annotations

from .schedules import StepSchedule

#: Seed for the train/validation split and for weight initialisation.
SEED: int = 55
#: Fraction of the 60,000 training images held out for validation.
VAL_FRACTION: float = 0.2
#: Examples per optimisation step during training.
BATCH_SIZE: int = 128
#: Examples per step when evaluating on the test set (the lesson's value).
TEST_BATCH_SIZE: int = 256
#: Examples per evaluation step on the fast path: without gradients, large batches cost little memory.
EVAL_BATCH_SIZE: int = 4096
#: The same for the convolutional network: its large activations stay in the CPU's caches, about 3x faster.
CONV_EVAL_BATCH_SIZE: int = 128
#: Step size of stochastic gradient descent.
LEARNING_RATE: float = 0.05
#: Passes over the training data.
EPOCHS: int = 5
#: The largest seed NumPy accepts (seeds run from 0 to this).
MAX_SEED: int = 2**32 - 1
#: Seeds of the seed-noise study; sweeps use the first ``MIN_SEEDS``, so their lesson run is one of the study's.
SEEDS: tuple[int, ...] = tuple(range(SEED, SEED + 5))
#: Fewest seeds behind any comparison that names a winner.
MIN_SEEDS: int = 3
#: Hidden layer widths of the lesson's multilayer network.
HIDDEN_SIZES: tuple[int, ...] = (50, 50, 50)
#: Dropout rate after the first hidden layer of the multilayer network.
DROPOUT: float = 0.2

#: Image geometry: one grey channel of 28 x 28 pixels.
IMAGE_SHAPE: tuple[int, int, int] = (1, 28, 28)
NUM_PIXELS: int = 28 * 28
NUM_CLASSES: int = 10

#: Pixel mean and standard deviation of the training set scaled to [0, 1] (checked by the ``mnist`` tests).
MNIST_MEAN: float = 0.1307
MNIST_STD: float = 0.3081

#: Test error rates (%) from LeCun, Cortes and Burges' MNIST table, quoted by the chapters.
PUBLISHED_TEST_ERROR: dict[str, float] = {
    "linear classifier (1-layer network)": 12.0,
    "linear classifier, deskewed images": 8.4,
    "k-nearest neighbours, Euclidean (L2)": 5.0,
    "LeNet-5, a convolutional network": 0.95,
}

#: Environment variable that points at the data directory.
DATA_DIR_ENV: str = "MNIST_DATA_DIR"
#: Data directory used when neither an argument nor the variable is given.
DEFAULT_DATA_DIR: str = "data"

# The homework's settings (chapter 7), named once for the homework and its solution.

#: Batch sizes to compare.
BATCH_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512)
#: Learning rates to compare, from too small to too large for SGD on this network.
LEARNING_RATES: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0)
#: One activation for every hidden layer, or one per layer (the lesson's mixed stack).
ACTIVATION_CHOICES: tuple[str | tuple[str, ...], ...] = (
    "relu", "sigmoid", "tanh", "gelu", "leaky_relu", ("sigmoid", "tanh", "relu"),
)
#: The bonus: ``StepLR`` from learning rate 0.1, multiplied by 0.1 every 2 epochs, for 6 epochs.
SCHEDULE_LR: float = 0.1
SCHEDULE_EPOCHS: int = 6
STEP_SCHEDULE: StepSchedule = StepSchedule(step_size=2, gamma=0.1)
