# A stand-in keeper run as another user (setpriv --reuid=nobody) by the
# trust tests: it listens on argv[1], answers every request line like a
# keeper with a token, and prints "got N" (bytes received) per connection.
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    n = 0
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
            if b"\n" in b:
                c.sendall(b'{"ok":true,"code":0,"data":{"pid":1,"proto":2,"version":"dev","access_token":"foreign-token","token_type":"Bearer"}}\n')
    except OSError:
        pass
    c.close()
    print("got", n, flush=True)
