// An RBAC denial in one podwire line. Pure text, below every layer (like
// errors.ts and names.ts): the run, the probes and the CLI all word a 403 so.

/**
 * A denial in the API server's own words (`User "u" cannot create resource
 * "pods/exec" in API group "" in the namespace "ns"`, from
 * responsewriters.forbiddenMessage) as one podwire line: `RBAC: u cannot
 * create pods/exec in namespace ns`. Undefined for other 403s (admission,
 * PodSecurity), which say something else.
 */
export function rbacDenial(message: string): string | undefined {
  const m = /User "((?:[^"\\]|\\.)*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)" (?:in the namespace "([^"]+)"|at the cluster scope)/.exec(message);
  if (m) {
    const [, user, verb, resource, group, ns] = m;
    const what = group ? `${resource!.split('/')[0]}.${group}${resource!.includes('/') ? `/${resource!.split('/').slice(1).join('/')}` : ''}` : resource;
    return `RBAC: ${user} cannot ${verb} ${what} ${ns ? `in namespace ${ns}` : '(cluster-wide)'}`;
  }
  const p = /User "((?:[^"\\]|\\.)*)" cannot (\S+) path "([^"]+)"/.exec(message);
  return p ? `RBAC: ${p[1]} cannot ${p[2]} path ${p[3]}` : undefined;
}
