#!/usr/bin/env python3
"""Split a gen_flows.py file into per-account, per-hour files in the S3
delivery layout (AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/...),
each with the header line: one account per file, as AWS delivers them.

    shard_split.py INPUT OUTDIR
"""
import os
import sys
import time
import zlib


def main():
    src, out = sys.argv[1], sys.argv[2]
    files = {}
    with open(src) as f:
        header = f.readline()
        for line in f:
            fields = line.split()
            account, start = fields[1], int(fields[10])
            hour = time.strftime('%Y%m%dT%H00Z', time.gmtime(start - start % 3600))
            key = (account, hour)
            if key not in files:
                day = time.strftime('%Y/%m/%d', time.gmtime(start))
                d = os.path.join(out, 'AWSLogs', account, 'vpcflowlogs', 'us-east-1', day)
                os.makedirs(d, exist_ok=True)
                name = f'{account}_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_{hour}_{zlib.crc32((account + hour).encode()):08x}.log'
                files[key] = open(os.path.join(d, name), 'w')
                files[key].write(header)
            files[key].write(line)
    for fh in files.values():
        fh.close()
    print(len(files))


if __name__ == '__main__':
    main()
