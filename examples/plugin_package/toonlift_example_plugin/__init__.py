"""An example of a separate package that extends toonlift: a backbone and a loss, found through entry points."""
