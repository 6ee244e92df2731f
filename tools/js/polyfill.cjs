// Loaded with `node --require` before the tools: aws-local-stepfunctions
// uses Promise.withResolvers, which Node.js has only from version 22 on.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
