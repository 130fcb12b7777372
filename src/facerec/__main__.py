"""``python -m facerec``: the ``facerec`` command line."""

from facerec.cli import main

if __name__ == "__main__":
    main()
