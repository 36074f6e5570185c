"""studytool: study Lecture 03 of a Transformer-architecture course in the terminal."""

__version__ = "0.1.0"
