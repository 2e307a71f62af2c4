import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type Factory = ReturnType<typeof SerializerSelector>;

/**
 * Fastify compiles a serializer for every route and status it declares, and every route declares
 * the same problem answers (400, 401, 403, 404, …). Each distinct schema is compiled once, not
 * once per route, and only when first used: both take a good share off the time to the first
 * answered request.
 */
export const sharedSerializers: Factory = (externalSchemas, options) => {
  const build = SerializerSelector()(externalSchemas, options);
  const compiled = new Map<string, ReturnType<typeof build>>();
  return (route) => {
    const key = JSON.stringify(route.schema);
    let serializer = compiled.get(key);
    if (!serializer) {
      let built: ReturnType<typeof build> | undefined;
      serializer = (data) => (built ??= build(route))(data);
      compiled.set(key, serializer);
    }
    return serializer;
  };
};
