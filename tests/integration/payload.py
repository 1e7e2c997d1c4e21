#!/usr/bin/env python3
"""payload.py: bulk TCP traffic for the userspace forwarder's tests.

  payload.py serve PORT              an echo server (asyncio): every byte back,
                                     half-close passed on
  payload.py firehose PORT           sends zeros to every client until it goes
  payload.py run HOST PORT N SIZE    N concurrent connections, each sending its
      own SIZE random bytes (seeded by its index) while reading the echo; prints
      "ok N" when every echo matched byte for byte, else "bad: <first reasons>"
  payload.py stall HOST PORT SECONDS connect, send a line, never read, hold
"""
import asyncio
import random
import socket
import sys
import time


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def firehose(reader, writer):
    chunk = bytes(65536)
    try:
        while True:
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def serve(port, handler):
    srv = await asyncio.start_server(handler, host="0.0.0.0", port=port, backlog=4096,
                                     reuse_address=True)
    async with srv:
        await srv.serve_forever()


async def one(host, port, i, size, bad):
    data = random.Random(i).randbytes(size)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    except (OSError, asyncio.TimeoutError) as e:
        bad.append("conn %d: connect: %r" % (i, e))
        return

    async def send():
        for off in range(0, size, 65536):
            writer.write(data[off:off + 65536])
            await writer.drain()
        writer.write_eof()

    async def recv():
        got = bytearray()
        while True:
            chunk = await reader.read(262144)
            if not chunk:
                return bytes(got)
            got += chunk

    try:
        _, got = await asyncio.wait_for(asyncio.gather(send(), recv()), 300)
    except (OSError, asyncio.TimeoutError) as e:
        bad.append("conn %d: %r" % (i, e))
        writer.close()
        return
    writer.close()
    if got != data:
        at = next((k for k in range(min(len(got), len(data))) if got[k] != data[k]), min(len(got), len(data)))
        bad.append("conn %d: echoed %d of %d bytes, first difference at %d" % (i, len(got), size, at))


async def run(host, port, n, size):
    bad = []
    await asyncio.gather(*(one(host, port, i, size, bad) for i in range(n)))
    return bad


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        asyncio.run(serve(int(sys.argv[2]), echo))
    elif cmd == "firehose":
        asyncio.run(serve(int(sys.argv[2]), firehose))
    elif cmd == "run":
        t = time.monotonic()
        bad = asyncio.run(run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
        if bad:
            print("bad: %d failed: %s" % (len(bad), "; ".join(bad[:5])))
            return 1
        print("ok %s in %.1f s" % (sys.argv[4], time.monotonic() - t))
    elif cmd == "stall":
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"hello\n")
        time.sleep(float(sys.argv[4]))
        print("held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
