"""A CDS client's signing key: the one JWT signer of the tests, the sandbox client and the load test.

Bench scripts import it after putting the repository on `sys.path`, so it needs nothing from pytest.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class ClientKey:
    """A private key (ES256/ES384 on their curves, RS256/RS384 at 2048 bits) and its public JWK.

    `jwk` carries only the key and its `kid`, no `alg`: a test may then sign with an algorithm the
    key was not made for and prove the service checks the key itself, not the JWK's label.
    """

    def __init__(
        self, alg: str = "ES384", kid: str | None = None, iss: str = "https://ehr.example.org"
    ) -> None:
        self.alg = alg
        self.kid = kid or str(uuid.uuid4())
        self.iss = iss
        if alg.startswith("ES"):
            curve = ec.SECP384R1() if alg == "ES384" else ec.SECP256R1()
            self.private: Any = ec.generate_private_key(curve)
            public = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key())
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())
        self.jwk: dict[str, Any] = {**json.loads(public), "kid": self.kid}

    def token(self, aud: str | list[str] | None, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A client JWT for `aud`, living 5 minutes with a fresh jti; claims or header fields given
        as None are left out."""
        now = int(time.time())
        body = {"iss": self.iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
        headers = {"kid": self.kid, "typ": "JWT", **(header or {})}
        return jwt.encode(
            {name: value for name, value in body.items() if value is not None},
            self.private,
            algorithm=self.alg,
            headers={name: value for name, value in headers.items() if value is not None},
        )
