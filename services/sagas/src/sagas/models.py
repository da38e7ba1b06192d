from datetime import date

from pydantic import BaseModel, ConfigDict, Field

MAX_AMOUNT = 1_000_000_000  # of one trip's charge; far beyond any trip, well within a float's precision


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlightRequest(Strict):
    flight_id: str = Field(min_length=1)
    passenger_name: str = Field(min_length=1)


class CarRentalRequest(Strict):
    pickup_location: str = Field(min_length=1)
    rental_date: date = Field(description="ISO date, e.g. 2024-12-16")


class PaymentInfo(Strict):
    card_number: str = Field(pattern=r"^\d{12,19}$", description="digits only")
    amount: float = Field(gt=0, le=MAX_AMOUNT, description="finite, at most MAX_AMOUNT")


class BookingRequest(Strict):
    """The body of ``BookingWorkflow/<trip id>/Run``."""

    flights: FlightRequest
    car: CarRentalRequest
    payment_info: PaymentInfo


class BookingResult(BaseModel):
    trip_id: str
    flight_booking_id: str
    car_booking_id: str
    payment_id: str
