"""Array kernels (numba / numpy): plain functions on arrays and floats, no objects, no I/O."""
