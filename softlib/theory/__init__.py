"""Theory helpers of the book's chapters: small pure functions named after the quantities they compute.

Each function's docstring gives the equation it implements and the paper it comes from.
"""
