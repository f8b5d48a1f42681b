import struct, sys
def read(path):
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    nano = magic == 0xa1b23c4d
    link = struct.unpack('<I', data[20:24])[0]
    off = 24; out = []
    while off < len(data):
        ts, tf, incl, orig = struct.unpack('<IIII', data[off:off+16]); off += 16
        pkt = data[off:off+incl]; off += incl
        t = ts + tf / (1e9 if nano else 1e6)
        ip = pkt[14:] if link == 1 else pkt
        ihl = (ip[0] & 15) * 4; tot = struct.unpack('>H', ip[2:4])[0]
        src = '.'.join(map(str, ip[12:16])); dst = '.'.join(map(str, ip[16:20]))
        tcp = ip[ihl:]
        sp, dp, seq, ack, offf, flags, win = struct.unpack('>HHIIBBH', tcp[:16])
        doff = (offf >> 4) * 4
        ln = tot - ihl - doff
        fl = ''.join(c for b, c in [(2,'S'),(1,'F'),(4,'R'),(8,'P'),(16,'.')] if flags & b)
        out.append((t, f'{src}:{sp}', f'{dst}:{dp}', fl, seq, ack, win, ln))
    return out
rows = read(sys.argv[1]); t0 = rows[0][0]
isn = {}
for t, s, d, fl, seq, ack, win, ln in rows:
    isn.setdefault(s, seq - (1 if 'S' not in fl else 0) if 'S' in fl else isn.get(s, seq))
for t, s, d, fl, seq, ack, win, ln in rows:
    print(f'{t-t0:9.3f} {s:>17} > {d:<17} [{fl:3}] seq {seq-isn.get(s,0):>8} ack {(ack-isn.get(d,0)) if ack else 0:>8} win {win:>6} len {ln}')
