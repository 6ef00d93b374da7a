"""`python -m irlkit.demos`: the demos store's command line (the store itself is `irlkit.store`)."""
