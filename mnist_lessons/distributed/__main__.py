"""Allow ``python -m mnist_lessons.distributed`` (what torchrun, mpiexec and srun start)."""

import sys

from . import main

sys.exit(main())
