"""``python -m cli``: the same as the ``syncline`` console script."""

from cli import main

main()
