import { useMutation } from '@apollo/client/react';
import { CombinedGraphQLErrors } from '@apollo/client';
import { type FormEvent, useState } from 'react';

import { LoginDocument, RegisterDocument } from './operations';
import { setSession } from './session';

/** SignIn signs in, or registers an account (so that a fresh server works). */
export function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [login, loginState] = useMutation(LoginDocument);
  const [register, registerState] = useMutation(RegisterDocument);
  const error = loginState.error ?? registerState.error;

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const action = (e.nativeEvent as SubmitEvent).submitter?.getAttribute('value');
    if (action === 'register') {
      const { data } = await register({ variables: { input: { username, password } } });
      if (data) setSession(data.register);
    } else {
      const { data } = await login({ variables: { input: { login: username, password } } });
      if (data) setSession(data.login);
    }
  }

  return (
    <form className="sign-in" onSubmit={(e) => void submit(e).catch(() => {})}>
      <h1>Parley</h1>
      <input name="username" placeholder="Username" autoComplete="username"
        value={username} onChange={(e) => setUsername(e.target.value)} />
      <input name="password" type="password" placeholder="Password" autoComplete="current-password"
        value={password} onChange={(e) => setPassword(e.target.value)} />
      <div>
        <button type="submit" value="login">Sign in</button>
        <button type="submit" value="register">Register</button>
      </div>
      {error && <p className="error" role="alert">{describe(error)}</p>}
    </form>
  );
}

/** describe shows a GraphQL error's stable reason next to its message. */
function describe(error: Error): string {
  if (CombinedGraphQLErrors.is(error)) {
    const e = error.errors[0];
    return `${e.extensions?.reason ?? e.extensions?.code}: ${e.message}`;
  }
  return error.message;
}
