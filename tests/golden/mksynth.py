#!/usr/bin/env python3
"""mksynth.py OUTDIR: write synthetic sFlow pcaps that cover what the real
fixtures lack (counter samples, expanded samples, discard samples, OVS-style
records, QinQ/VXLAN/MPLS/IPv6 headers, a truncated datagram). tshark is the
oracle for them (tests/golden/tshark.sh); they are generated, never committed.
"""
import os
import struct
import sys
def u32(*v): return b''.join(struct.pack('>I',x) for x in v)
def u64(v): return struct.pack('>Q',v)
def rec(tag,body): 
    pad=(-len(body))%4
    return u32(tag,len(body))+body+b'\0'*pad
def eth_ipv4_udp(src,dst,sp,dp,proto=17,vlan=None):
    e=bytes.fromhex('020000000001')+bytes.fromhex('020000000002')
    if vlan is not None: e+=struct.pack('>HH',0x8100,vlan)
    e+=struct.pack('>H',0x0800)
    l4=struct.pack('>HHHH',sp,dp,28,0) if proto==17 else struct.pack('>HHIIBBHHH',sp,dp,1,0,0x50,0x12,1000,0,0)
    ip=struct.pack('>BBHHHBBH4s4s',0x45,0,20+len(l4),0x1234,0,63,proto,0,bytes(map(int,src.split('.'))),bytes(map(int,dst.split('.'))))
    return e+ip+l4
def hdr_rec(pkt,frame_len=None):
    return rec(1,u32(1,frame_len or len(pkt)+4,4,len(pkt))+pkt+b'\0'*((-len(pkt))%4))
def generic(ifindex,inoct,outoct):
    return rec(1,u32(ifindex,6)+u64(10000000000)+u32(1,3)+u64(inoct)+u32(10,11,12,13,14,15)+u64(outoct)+u32(20,21,22,23,24,1))
def ethctr(): return rec(2,u32(*range(1,14)))
def portname(n):
    b=n.encode(); return rec(1005,u32(len(b))+b+b'\0'*((-len(b))%4))
def ofport(): return rec(1004,u64(0x1234)+u32(7))
def flow_sample(seq,srcid,rate,pool,drops,inp,outp,recs):
    body=u32(seq,srcid,rate,pool,drops,inp,outp,len(recs))+b''.join(recs); return rec(1,body)
def flow_sample_x(seq,cls,idx,rate,pool,drops,inf,inv,outf,outv,recs):
    body=u32(seq,cls,idx,rate,pool,drops,inf,inv,outf,outv,len(recs))+b''.join(recs); return rec(3,body)
def ctr_sample(seq,srcid,recs): return rec(2,u32(seq,srcid,len(recs))+b''.join(recs))
def ctr_sample_x(seq,cls,idx,recs): return rec(4,u32(seq,cls,idx,len(recs))+b''.join(recs))
def discard(seq,cls,idx,drops,inp,outp,reason,recs): return rec(5,u32(seq,cls,idx,drops,inp,outp,reason,len(recs))+b''.join(recs))
def datagram(agent,seq,up,samples,subid=0):
    return u32(5,1)+bytes(map(int,agent.split('.')))+u32(subid,seq,up,len(samples))+b''.join(samples)
def pcap(dgrams,path):
    out=struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1)
    for i,d in enumerate(dgrams):
        udp=struct.pack('>HHHH',50000,6343,8+len(d),0)+d
        ip=struct.pack('>BBHHHBBH4s4s',0x45,0,20+len(udp),1,0,64,17,0,bytes([10,99,0,1]),bytes([10,99,0,101]))
        fr=bytes.fromhex('00000000000200000000000108 00'.replace(' ',''))+ip+udp
        out+=struct.pack('<IIII',1700000000+i,0,len(fr),len(fr))+fr
    open(path,'wb').write(out)


def ip4(src, dst, proto, payload):
    return struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64,
                       proto, 0, bytes(map(int, src.split('.'))),
                       bytes(map(int, dst.split('.')))) + payload


def main(out):
    os.makedirs(out, exist_ok=True)
    P = lambda n: os.path.join(out, n)
    p1=eth_ipv4_udp('10.0.1.5','10.2.0.9',4444,53,vlan=10)
    p2=eth_ipv4_udp('10.0.1.6','10.2.0.8',1234,80,proto=6)
    d1=datagram('10.99.0.11',7,123456,[
        flow_sample(100,0x00000003,10,5000,2,3,0x40000100,[rec(1001,u32(10,0,10,0)),hdr_rec(p1)]),
        flow_sample(101,3,10,5010,2,0x3FFFFFFF,0x80000002,[hdr_rec(p2)]),
        ctr_sample(50,3,[generic(3,123456789012,987654321),ethctr()]),
        ctr_sample_x(51,0,4,[generic(4,1,2),portname('swp4')]),
    ])
    d2=datagram('10.99.0.12',8,123999,[
        flow_sample_x(200,0,5,10,900,0,1,258,2,3,[hdr_rec(p2)]),
        discard(300,0,5,1,5,0,258,[hdr_rec(p1)]),
        ctr_sample(52,5,[generic(5,10,20)]),
    ])
    d3=datagram('10.99.0.13',9,5,[ctr_sample(53,6,[generic(6,100,200),ofport(),portname('br0-p1')])])
    pcap([d1, d2], P("syn1.pcap")); pcap([d3], P("syn2.pcap"))
    p1=eth_ipv4_udp('10.0.1.5','10.2.0.9',4444,53)
    d4=datagram('10.99.0.14',10,6,[flow_sample(400,7,10,100,0,7,8,[rec(1036,u32(5)),hdr_rec(p1)]),ctr_sample(60,7,[generic(7,1,2)])])
    d5=datagram('10.99.0.15',11,7,[ctr_sample(61,8,[generic(8,1000,2000),ethctr(),ofport(),portname('br0-p8'),rec(2207,u32(1,2,3,4,5,6))]),
                                   flow_sample(401,8,10,100,0,8,9,[hdr_rec(p1)])])
    pcap([d4,d5],P("syn-ovs.pcap"))
    p1=eth_ipv4_udp('10.0.1.5','10.2.0.9',4444,53)
    d=datagram('10.99.0.16',12,8,[flow_sample(500,7,10,100,0,7,8,[hdr_rec(p1)]),ctr_sample(70,7,[generic(7,1,2),ethctr()])])
    pcap([d[:-30]],P("syn-trunc.pcap"))
    # OVS-like where bogus length makes it read past the end: 1004 with dpid hi=0x00000001 (tag 1 generic), lo = 88
    d2=datagram('10.99.0.17',13,9,[ctr_sample(71,8,[generic(8,1,2),rec(1004,u64((1<<32)|88)+u32(3)),portname('x')]), flow_sample(502,8,10,100,0,8,9,[hdr_rec(p1)])])
    pcap([d2],P("syn-ovs2.pcap"))
    mac=bytes.fromhex('020000000001020000000002')
    inner=mac+b'\x08\x00'+ip4('192.168.1.1','192.168.1.2',6,struct.pack('>HHIIBBHHH',1111,2222,1,0,0x50,0x02,100,0,0))
    vx=struct.pack('>BBBBI',8,0,0,0,(5001<<8))+inner
    outer=mac+b'\x08\x00'+ip4('10.0.0.1','10.0.0.2',17,struct.pack('>HHHH',40000,4789,8+len(vx),0)+vx)
    mpls=mac+b'\x88\x47'+struct.pack('>I',(100<<12)|(1<<8)|64)+ip4('10.9.9.1','10.9.9.2',17,struct.pack('>HHHH',1,2,8,0))
    qinq=mac+struct.pack('>HHHH',0x88a8,100,0x8100,200)+b'\x08\x00'+ip4('10.7.7.1','10.7.7.2',17,struct.pack('>HHHH',7,8,8,0))
    v6=mac+b'\x86\xdd'+struct.pack('>IHBB',0x60000000,8+8,0,64)+bytes(15)+b'\x01'+bytes(15)+b'\x02'+bytes([17,0,1,4,0,0,0,0])+struct.pack('>HHHH',53,5353,8,0)
    d=datagram('10.99.0.20',1,1,[flow_sample(i,1,1,1,0,1,2,[hdr_rec(p)]) for i,p in enumerate([outer,mpls,qinq,v6])])
    pcap([d],P("hdrs.pcap"))


if __name__ == '__main__':
    main(sys.argv[1])
