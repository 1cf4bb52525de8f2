// Typed clients of the generated services, one per service, over the shared transport.
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { transport } from "./transport";

const made = new Map<string, unknown>();

export function client<T extends DescService>(service: T): Client<T> {
  let c = made.get(service.typeName) as Client<T> | undefined;
  if (!c) {
    c = createClient(service, transport);
    made.set(service.typeName, c);
  }
  return c;
}

/** The full name of a method, as the gateway policy writes it: `package.Service/Method`. */
export function methodName(service: DescService, method: string): string {
  return `${service.typeName}/${method}`;
}
