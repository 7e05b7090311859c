#!/usr/bin/env python3
"""Raw TCP proxies for capturing classic HA between two Java brokers.

  ha_proxy.py record <listen-port> <target-host> <target-port> <prefix>
      One HA connection, bytes forwarded unchanged; each direction is appended to <prefix>.up
      (client -> server, i.e. slave -> master) and <prefix>.down (server -> client).
  ha_proxy.py rewrite <listen-port> <target-host> <target-port> <from> <to>
      Name-server proxy for the slave: replaces the ASCII string <from> by <to> (same length) in
      what the name server answers, so the master HA address a slave learns from REGISTER_BROKER
      is the recording proxy. (A Java 5.3.3 slave ignores haMasterAddress: its
      `updateHaMasterAddress` runs before the HA client exists.)
"""
import asyncio
import sys


async def pipe(reader, writer, path=None, swap=None):
    log = open(path, "ab") if path else None
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if swap:
                data = data.replace(swap[0], swap[1])
            if log:
                log.write(data)
                log.flush()
            writer.write(data)
            await writer.drain()
    finally:
        if log:
            log.close()
        writer.close()


async def main():
    mode, port, host, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    done = asyncio.Event()

    async def handle(cr, cw):
        sr, sw = await asyncio.open_connection(host, target)
        if mode == "rewrite":
            swap = (sys.argv[5].encode(), sys.argv[6].encode())
            assert len(swap[0]) == len(swap[1]), "a rewrite must keep frame lengths"
            await asyncio.gather(pipe(cr, sw), pipe(sr, cw, swap=swap), return_exceptions=True)
            return
        if done.is_set():  # only the first HA connection is recorded
            cw.close()
            sw.close()
            return
        done.set()
        prefix = sys.argv[5]
        await asyncio.gather(pipe(cr, sw, prefix + ".up"), pipe(sr, cw, prefix + ".down"),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
