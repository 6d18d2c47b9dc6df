"""Training: ``loops`` (shown in the book), ``recipe`` (every run), ``early_stopping`` and ``export``."""
