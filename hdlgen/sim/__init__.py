"""Simulation of generated designs: simulator discovery and cocotb runs."""
