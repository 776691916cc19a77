/** `POST /login`: a login-like write — stamps `lastActive` and logs the activity, in one transaction. */
import { redirect } from 'react-router';
import { ensureDemo } from '~/lib/demo.server';
import { writeWithPooling } from '~/services/connection-pool-manager.server';

export async function action() {
  const { userId } = await ensureDemo();
  await writeWithPooling(async (tx) => {
    const user = await tx.user.update({ where: { id: userId }, data: { lastActive: new Date() } });
    await tx.activityLog.create({ data: { userId: user.id, action: 'login' } });
    return user;
  });
  return redirect('/');
}

export function loader() {
  return redirect('/');
}
