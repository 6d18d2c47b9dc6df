"""Allow ``python -m mnist_lessons``."""

import sys

from .cli import main

sys.exit(main())
