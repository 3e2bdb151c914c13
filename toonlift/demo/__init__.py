"""The built-in demo: the whole pipeline on the synthetic world with the shipped generators (``toonlift demo``)."""
