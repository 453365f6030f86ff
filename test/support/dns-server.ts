/**
 * A DNS server on loopback that a test controls (the `dns2` package): it answers A and TXT
 * questions from records the test sets (every A question too, with `everyA`), and nothing else (NOERROR with no answer, which
 * resolvers report as ENODATA). Point a resolver at `127.0.0.1:<port>`.
 */
import dns2 from 'dns2';

const { Packet } = dns2;

/** A running test DNS server. */
export interface TestDns {
  /** `127.0.0.1:<port>`, for SLIPWAY_DNS_SERVERS or `Resolver.setServers`. */
  server: string;
  port: number;
  setTxt(name: string, values: string[]): void;
  /** `null`: no A record for `name`, even with `everyA`. */
  setA(name: string, address: string | null): void;
  remove(name: string): void;
  close(): Promise<void>;
}

/** Options of {@link startTestDns}. */
export interface TestDnsOptions {
  /** Answer every A question with this address unless {@link TestDns.setA} says otherwise (pebble's HTTP-01 checks on loopback). */
  everyA?: string;
}

/** Starts a UDP DNS server on 127.0.0.1 on a free port. */
export async function startTestDns(options: TestDnsOptions = {}): Promise<TestDns> {
  const txt = new Map<string, string[]>();
  const a = new Map<string, string | null>();
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      for (const q of request.questions) {
        const name = q.name.toLowerCase();
        if (q.type === Packet.TYPE.TXT) {
          for (const value of txt.get(name) ?? []) response.answers.push(Packet.createResourceFromQuestion(q, { type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 1, data: value }));
        } else if (q.type === Packet.TYPE.A) {
          const address = a.has(name) ? a.get(name) : options.everyA;
          if (address) response.answers.push(Packet.createResourceFromQuestion(q, { type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 1, address }));
        }
      }
      void send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = server.addresses().udp!.port;
  return {
    server: `127.0.0.1:${port}`,
    port,
    setTxt: (name, values) => void txt.set(name.toLowerCase(), values),
    setA: (name, address) => void a.set(name.toLowerCase(), address),
    remove: (name) => {
      txt.delete(name.toLowerCase());
      a.delete(name.toLowerCase());
    },
    close: async () => {
      await server.close();
    },
  };
}
