"""The ``syncline`` command line."""
