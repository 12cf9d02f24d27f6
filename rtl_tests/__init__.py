"""cocotb test modules for hdlgen designs (run through :mod:`hdlgen.sim`)."""
