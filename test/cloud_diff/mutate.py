"""mutate.py SOURCE OUT: variants of the GCP NDJSON entries in SOURCE for
test/cloud_diff/run.sh, written to OUT as files m00000, m00001, ...:
each entry cut at every byte (alone and followed by a good line), values
swapped for ones at the readers' limits (escapes, blanks, leading zeros,
18/19/20 digits, integral floats, bad dates, IPv6, surrogates, long and
non-ASCII text), raw bytes damaged, and the entries as an array.
Deterministic (a fixed seed)."""
import random
import sys

random.seed(7)
src = [l for l in open(sys.argv[1]).read().splitlines() if l.startswith('{')]
out = sys.argv[2]
n = 0
def w(s):
    global n
    open(f'{out}/m{n:05d}', 'w', encoding='utf-8', errors='surrogatepass').write(s) if isinstance(s,str) else open(f'{out}/m{n:05d}','wb').write(s)
    n += 1
# truncations of one entry at every position, alone and followed by a good line
line = src[0]
for i in range(0, len(line)+1, 1):
    w(line[:i])
    w(line[:i] + '\n' + src[-1] + '\n')
# value swaps
subs = [
 ('"bytes_sent":"', ['"bytes_sent":"0', '"bytes_sent":"-', '"bytes_sent":"+', '"bytes_sent":"00', '"bytes_sent":"1e3', '"bytes_sent":"\\u0031', '"bytes_sent":"99999999999999999999', '"bytes_sent":"123456789012345678', '"bytes_sent":"1234567890123456789', '"bytes_sent":"9223372036854775807', '"bytes_sent":"9223372036854775808']),
 ('"protocol":', ['"protocol":6.0,"x":', '"protocol":-1,"x":', '"protocol":1e2,"x":', '"protocol":"6","x":', '"protocol":0006,"x":', '"protocol":256,"x":', '"protocol":255,"x":', '"protocol":2.5e2,"x":', '"protocol":255.0,"x":', '"protocol":true,"x":', '"protocol":null,"x":', '"protocol":"","x":', '"protocol": 6 ,"x":', '"protocol":123456789012345678901,"x":', '"protocol":0,"x":', '"protocol":-0,"x":', '"protocol":0.0,"x":']),
 ('"src_port":', ['"src_port":65535.0,"y":', '"src_port":65536,"y":', '"src_port":"443","y":', '"src_port":1E1,"y":', '"src_port":  7 ,"y":']),
 ('"reporter":"', ['"reporter":"SR\\u0043', '"reporter":"DES\\u0054', '"reporter":"src', '"reporter":"DESTX', '"reporter":"\\"', '"reporter": "']),
 ('"start_time":"', ['"start_time":"2024-02-30', '"start_time":"2024-02-29T00:00:00Z","q":"', '"start_time":"\\u0032', '"start_time":"2024-03-01t01:01:55.5+01:30","q":"', '"start_time":"2024-03-01 01:01:55.123456789123Z","q":"', '"start_time":"1900-02-29T00:00:00Z","q":"', '"start_time":"2024-03-01T24:00:00Z","q":"', '"start_time":"2024-03-01T01:01:60Z","q":"']),
 ('"src_ip":"', ['"src_ip":"::1","z":"', '"src_ip":"1.2.3.4\\u0000', '"src_ip":"\\u0031.2.3.4","z":"', '"src_ip":"fe80::1%1","z":"', '"src_ip":"256.1.1.1","z":"', '"src_ip":"1.2.3.04","z":"', '"src_ip":"::ffff:1.2.3.4","z":"', '"src_ip": "']),
 ('"vm_name":"', ['"vm_name":"\\u00e9t\\u00e9', '"vm_name":"caf\u00e9', '"vm_name":"\\ud83d\\ude00', '"vm_name":"\\ud83d', '"vm_name":"a\\"b', '"vm_name":"tab\\there', '"vm_name":"\\/', '"vm_name":"' + 'x'*40, '"vm_name":"' + 'y'*70]),
 ('"project_id":"', ['"project_id":"other-proj', '"project_id":"', '"project_id":"\\u0000', '"project_id":' ]),
 ('"connection":{', ['"connection":{ ', '"connection":{"extra":[1,2,{"a":"b"}],', '"connection":{"src_ip":"9.9.9.9",', '"connection": {']),
 ('"logName":"', ['"logName":"x', '"logName":"\\u0070', '"log\\u004eame":"']),
 ('"resource":{', ['"resource":{"a":[],"b":{},"c":"\\u00ff",', '"resource":{ "k" : 1 ,', '"resource":[],"r2":{', '"resource":{"d":1e400,']),
 ('","', ['", "', '" ,"', '","\\u0078":1,"']),
 ('{"', ['{ "', '{"":0,"', '{"\\u0061":1,"']),
 (':', [' :', ': ', ':\t']),
]
for _ in range(6000):
    base = random.choice(src)
    s = base
    for _k in range(random.randint(1,3)):
        pat, reps = random.choice(subs)
        idxs = [i for i in range(len(s)) if s.startswith(pat, i)]
        if not idxs: continue
        i = random.choice(idxs)
        s = s[:i] + random.choice(reps) + s[i+len(pat):]
    extra = random.choice(src)
    w(s + '\n' + extra + '\n')
# raw byte mutations
for _ in range(3000):
    b = bytearray(random.choice(src).encode())
    for _k in range(random.randint(1,4)):
        i = random.randrange(len(b))
        b[i] = random.choice([0x22, 0x5c, 0x0a, 0x00, 0x7b, 0x7d, 0x2c, 0x3a, 0x20, 0xc3, 0xff, 0x80, random.randrange(256)])
    w(bytes(b) + b'\n' + src[0].encode() + b'\n')
# whole documents
w('[' + ','.join(src[:20]) + ']')
w('\n'.join(src) + '\n')
print(f"mutate.py: {n} variants of {len(src)} entries")
