"""Tests of egid.models.boosters, one module per library module."""
