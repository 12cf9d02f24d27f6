"""The host link: framed protocol, UART gateware, host client, bitstream builds."""
