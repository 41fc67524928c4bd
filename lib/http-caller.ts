/**
 * Who asked, as API Gateway's authorizer passed it on: shared by the HTTP APIs that audit their changes (the
 * schedules API and the lifecycle API), so that both name a caller the same way in their audit lines.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** Who asked: the IAM principal (SigV4) or the JWT's subject, as API Gateway's authorizer passed them on. */
export interface Caller {
  readonly type: 'iam' | 'jwt' | 'none';
  /** The IAM ARN, the JWT `sub`, or `anonymous` (the local stage has no authorizer). */
  readonly id: string;
}

/** What API Gateway's IAM or JWT authorizer puts in the request context (the parts read here). */
interface Authorizer {
  readonly iam?: { readonly userArn?: unknown };
  readonly jwt?: { readonly claims?: { readonly sub?: unknown; readonly client_id?: unknown } };
}

/** The caller API Gateway authenticated: the IAM principal's ARN, or the JWT's `sub` (or `client_id`). */
export function callerOf(event: Pick<APIGatewayProxyEventV2, 'requestContext'>): Caller {
  const authorizer = (event.requestContext as { authorizer?: Authorizer } | undefined)?.authorizer;
  const arn = authorizer?.iam?.userArn;
  if (typeof arn === 'string' && arn !== '') return { type: 'iam', id: arn };
  const claims = authorizer?.jwt?.claims;
  const subject = claims?.sub ?? claims?.client_id;
  if (typeof subject === 'string' && subject !== '') return { type: 'jwt', id: subject };
  return { type: 'none', id: 'anonymous' };
}
