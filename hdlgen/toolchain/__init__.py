"""The toolchain layer: finding and running YoWASP, Verilator, Icarus and cocotb."""
