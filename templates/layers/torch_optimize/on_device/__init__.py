"""The LiteRT (.tflite) conversion for phones and edge devices, in a venv of its own."""
