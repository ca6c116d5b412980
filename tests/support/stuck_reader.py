#!/usr/bin/env python3
"""A subscriber that stops reading: logs in with a persistent session, subscribes to TOPIC at
QoS 1, prints "subscribed", then never reads again, with a small receive buffer so that the
broker's writes to it block soon. Runs until killed.

    stuck_reader.py PORT CLIENT_ID USERNAME PASSWORD TOPIC
"""
import socket
import struct
import sys
import time


def utf8(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def packet(first_byte, body):
    n, length = len(body), b""
    while True:
        digit, n = n % 128, n // 128
        length += bytes([digit | (0x80 if n else 0)])
        if not n:
            break
    return bytes([first_byte]) + length + body


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("closed before the handshake finished")
        data += chunk
    return data


def main():
    port, client_id, user, password, topic = sys.argv[1:6]
    sock = socket.socket()
    # Set before connecting, so the window the broker sees stays small.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", int(port)))
    # CONNECT 3.1.1: user name, password, persistent session; keep-alive 600 s.
    body = utf8("MQTT") + bytes([4, 0xC0]) + struct.pack(">H", 600)
    body += utf8(client_id) + utf8(user) + utf8(password)
    sock.sendall(packet(0x10, body))
    connack = read_exactly(sock, 4)
    if connack[3] != 0:
        raise SystemExit(f"CONNACK refused: {connack[3]}")
    sock.sendall(packet(0x82, struct.pack(">H", 1) + utf8(topic) + bytes([1])))
    read_exactly(sock, 5)  # SUBACK
    print("subscribed", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
