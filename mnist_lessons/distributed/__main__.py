"""Allow ``python -m mnist_lessons.distributed`` (what torchrun, mpiexec and srun start)."""

from . import main

raise SystemExit(main())
