"""Allow ``python -m mnist_lessons``."""

from .cli import main

raise SystemExit(main())
