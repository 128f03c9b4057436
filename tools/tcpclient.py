#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""The tutorial's tcpclient.py, ported to Python 3.

Connects to the echo server, then for every line typed at the '>' prompt
sends it (without the newline) and prints one reply (at most 1024 bytes).
Stops on an empty line, at end of input, or when the server closes.

Usage: tcpclient.py [HOST [PORT]]   (default 192.168.69.1 12345)
"""
import sys
from socket import socket, AF_INET, SOCK_STREAM


class TcpClient:
    HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.69.1'
    PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 12345
    BUFSIZ = 1024
    ADDR = (HOST, PORT)

    def __init__(self):
        self.client = socket(AF_INET, SOCK_STREAM)
        self.client.connect(self.ADDR)
        while True:
            # Python 2's raw_input raised EOFError at end of input: treat it
            # like the empty line that ends the session.
            try:
                data = input('>')
            except EOFError:
                break
            if not data:
                break
            self.client.send(data.encode())
            data = self.client.recv(self.BUFSIZ)
            if not data:
                break
            print(data.decode('utf-8', errors='replace'))
        self.client.close()


if __name__ == '__main__':
    client = TcpClient()
