"""Flask's signed-cookie session, opened without its signer when the request brings no session cookie
(every API call with a bearer token, every first visit): Flask builds the signing serializer before it
looks for the cookie, and a request without one ends with the same new empty session either way."""
from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)  # no key (a null session) or a cookie to verify
