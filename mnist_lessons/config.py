"""The lesson's settings, named once for the chapters, the command line and the tests."""

from __future__ import annotations

from .schedules import StepSchedule

SEED: int = 55  # for the train/validation split and for weight initialisation
VAL_FRACTION: float = 0.2  # of the 60,000 training images, held out for validation
BATCH_SIZE: int = 128  # examples per optimisation step during training
TEST_BATCH_SIZE: int = 256  # examples per step when evaluating on the test set (the lesson's value)
EVAL_BATCH_SIZE: int = 4096  # per evaluation step on the fast path: without gradients, big batches cost little
CONV_EVAL_BATCH_SIZE: int = 128  # the same for the convolutional network: it stays in the CPU's caches, 3x faster
LEARNING_RATE: float = 0.05  # step size of stochastic gradient descent
EPOCHS: int = 5  # passes over the training data
MAX_SEED: int = 2**32 - 1  # the largest seed NumPy accepts (seeds run from 0 to this)
SEEDS: tuple[int, ...] = tuple(range(SEED, SEED + 5))  # the seed-noise study's; sweeps take the first MIN_SEEDS
MIN_SEEDS: int = 3  # fewest seeds behind any comparison that names a winner
HIDDEN_SIZES: tuple[int, ...] = (50, 50, 50)  # hidden layer widths of the lesson's multilayer network
DROPOUT: float = 0.2  # dropout rate after the first hidden layer of the multilayer network

IMAGE_SHAPE: tuple[int, int, int] = (1, 28, 28)  # one grey channel of 28 x 28 pixels
NUM_PIXELS: int = 28 * 28
NUM_CLASSES: int = 10

MNIST_MEAN: float = 0.1307  # pixel mean of the training set scaled to [0, 1] (checked by the mnist tests)
MNIST_STD: float = 0.3081  # and its standard deviation

#: Test error rates (%) from LeCun, Cortes and Burges' MNIST table, quoted by the chapters.
PUBLISHED_TEST_ERROR: dict[str, float] = {
    "linear classifier (1-layer network)": 12.0, "linear classifier, deskewed images": 8.4,
    "k-nearest neighbours, Euclidean (L2)": 5.0, "LeNet-5, a convolutional network": 0.95,
}

DATA_DIR_ENV: str = "MNIST_DATA_DIR"  # environment variable that points at the data directory
DEFAULT_DATA_DIR: str = "data"  # used when neither an argument nor the variable is given

# The homework's settings (chapter 7), named once for the homework and its solution.
BATCH_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512)
LEARNING_RATES: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0)  # from too small to too large for SGD
#: One activation for every hidden layer, or one per layer (the lesson's mixed stack).
ACTIVATION_CHOICES: tuple[str | tuple[str, ...], ...] = ("relu", "sigmoid", "tanh", "gelu", "leaky_relu",
                                                         ("sigmoid", "tanh", "relu"))
#: The bonus: ``StepLR`` from learning rate 0.1, multiplied by 0.1 every 2 epochs, for 6 epochs.
SCHEDULE_LR: float = 0.1
SCHEDULE_EPOCHS: int = 6
STEP_SCHEDULE: StepSchedule = StepSchedule(step_size=2, gamma=0.1)
