"""The egid command line and the steps it orchestrates: run, evaluate, predict, reports."""
